"""`python -m inference`: run an inference worker configured from S2ST_* variables."""

import asyncio
import os

from inference.config import WorkerConfig
from inference.server import serve
from s2st.runtime.logs import configure_logging
from s2st.runtime.tracing import configure_tracing


def main() -> None:
    try:
        config = WorkerConfig.from_environ(os.environ)
        configure_tracing("s2st-inference")
    except ValueError as error:
        raise SystemExit(f"worker configuration: {error}") from None
    configure_logging(config.log_level)
    asyncio.run(serve(config))


if __name__ == "__main__":
    main()
