"""The monitor: queue lag, consumer status, SLA and the partner scorecard (DESIGN.md section 11).

Modules, from the pure core out to the edges:

- :mod:`~hub.monitor.evaluator`: Burrow-style consumer status over a window of samples;
- :mod:`~hub.monitor.stats`: percentiles and shares;
- :mod:`~hub.monitor.scorecard`: the in-memory tally of routed copies, decisions,
  outcomes and dead letters;
- :mod:`~hub.monitor.records`: record bytes to the facts the tally keeps;
- :mod:`~hub.monitor.lag`: offsets and oldest unconsumed records, read from Kafka;
- :mod:`~hub.monitor.tail`: group-less readers feeding the tally;
- :mod:`~hub.monitor.collector`: one sample of all of it;
- :mod:`~hub.monitor.service`: sampling every interval, surviving outages;
- :mod:`~hub.monitor.metrics`, :mod:`~hub.monitor.web`, :mod:`~hub.monitor.page`,
  :mod:`~hub.monitor.charts`, :mod:`~hub.monitor.console`: Prometheus, the HTTP app,
  the scorecard page with its SVG charts, and ``hub status``.

``docs/operations.md`` explains every metric and the status rules.
"""
