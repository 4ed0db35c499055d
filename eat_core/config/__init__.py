"""What a run is: typed settings (``run``), the requests that produce them, and their coercion."""
