"""`trailbridge serve`: the AWS JSON APIs over HTTP (starlette + uvicorn)."""
