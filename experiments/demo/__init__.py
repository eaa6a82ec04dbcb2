"""The teaching demo: the market live in the browser (``ccei demo``), and a classroom for auction scenarios.

- :mod:`experiments.demo.app`: the Mesa SolaraViz app (``solara run experiments/demo/app.py``);
- :mod:`experiments.demo.views`: its panels (map, charts, ticker, ledger);
- :mod:`experiments.demo.classroom`: a class in one double auction: seats, quotes, rounds, the shared state, the export;
- :mod:`experiments.demo.web`: the classroom's server: teacher's console, projector, students' pages, debrief;
- :mod:`experiments.demo.figures`: the map and charts as matplotlib figures;
- :mod:`experiments.demo.live`: a scenario's model wired to a ledger, the trade-log ticker, the shared room;
- :mod:`experiments.demo.server`: settings, checks and the Solara server;
- :mod:`experiments.demo.assets`: the browser assets, fetched once so a classroom needs no internet.
"""
