"""Market mechanisms, pure: numpy, scipy and networkx only; no Mesa, no web3; randomness passed in.

``orders`` (vocabulary), ``errors``, ``rounding`` (integer money that stays balanced), ``metering``,
``pricing`` (dynamic and SDR prices), ``posted``, ``auctions`` (call and continuous double auctions),
``bargaining`` (Nash bargaining, microgrid trading), ``network`` (regions, links, fibre latency),
``carbon`` (emission factors, reports), ``allocation`` (coupled compute-network-energy allocation)
and ``audit`` (mechanism properties).
"""
