"""The web console: pages served by `trailbridge serve` at `/console/` (plain HTML, CSS and JavaScript shipped in
`static/`, no build step, nothing fetched from elsewhere), acting through the server's own AWS API as the
signed-in key.

    app.py         the routes (pages, static files, sign-in/out, the API proxy, the Sandbox, Deliveries,
                   Redrive, Validate now) and their checks
    proxy.py       a console call made again on the server's API as a client would make it: a JSON-protocol one
                   as sent; one of another protocol (SNS, Lambda) by name, written, signed and read back by
                   botocore
    sessions.py    the signed session cookie and the CSRF token of each session
    throttle.py    sign-in throttling: 5 failures within a minute and the access key waits
    deliveries.py  a rule's delivery counters per minute and its targets' last outcomes (the metrics), for a
                   rule the key may describe
    redrive.py     the checks before a dead-lettered event is redriven to its rule's target (by the bus engine)
    validation.py  Validate now: the log-file validator on a trail's bucket, each read an API call as the key
    sandbox.py     pattern tests with the engine's explanation and hints; a recorded call's event
    samples.py     writes static/samples.json (generated, reproducible): a real CloudTrail record per served
                   service from ../shared/corpora/cloudtrail, the Sandbox's sample when none is recorded
    static/        index.html and login.html (templates), console.js (the pages: rules, deliveries' charts,
                   sandbox, history, trails and their log files, queues, topics, functions, state machines and
                   executions with their graph), console.css, icon.svg, samples.json
"""
