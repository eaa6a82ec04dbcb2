"""The teaching demo: the market live in the browser, with a classroom mode (``ccei demo``).

- :mod:`experiments.demo.app`: the Mesa SolaraViz app (``solara run experiments/demo/app.py``);
- :mod:`experiments.demo.views`: its panels (map, charts, ticker, ledger, classroom seat);
- :mod:`experiments.demo.figures`: the map and charts as matplotlib figures;
- :mod:`experiments.demo.live`: a scenario's model wired to a ledger, the trade-log ticker, the shared room;
- :mod:`experiments.demo.server`: settings, checks and the Solara server;
- :mod:`experiments.demo.assets`: the browser assets, fetched once so a classroom needs no internet.
"""
