"""One front endpoint per InferenceService: the HTTP front end (``http``), the traffic split
(``split``), the routing of each request (``service``) and the connections to replicas
(``upstream``)."""
