"""The one bridge from the answering pipeline (blocking, on a worker thread) to the event loop that streams it."""

from __future__ import annotations

import asyncio
import contextlib

from qa.pipeline import AnswerPipeline, Event
from qa.records import AskInput


class PipelineRun:
    """The pipeline's events for one request, produced on a worker thread and awaited on the event loop."""

    def __init__(self, pipeline: AnswerPipeline, request: AskInput) -> None:
        loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Event | Exception | None] = asyncio.Queue()

        def put(item: Event | Exception | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone after a shutdown: drop the event
                loop.call_soon_threadsafe(self._queue.put_nowait, item)

        def work() -> None:
            try:
                for event in pipeline.events(request):
                    put(event)
                put(None)
            except Exception as exc:  # handed to the event loop, which answers with it
                put(exc)

        self._worker = loop.run_in_executor(None, work)

    async def next(self) -> Event | None:
        """The next event, None after the last; the pipeline's error is raised here."""
        item = await self._queue.get()
        if isinstance(item, Exception):
            raise item
        return item
