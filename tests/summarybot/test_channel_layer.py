"""The Redis channel layer, configured as settings configure it, keeps an idle receiver (a job page's
websocket waiting for the worker's next step) alive."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import channel_layers
from django.conf import settings


@pytest.mark.slow
async def test_an_idle_receiver_outlives_the_layers_blocking_wait() -> None:
    if "redis" not in settings.CHANNEL_LAYERS["default"]["BACKEND"].lower():
        pytest.skip("needs REDIS_URL: the in-memory layer has no socket to time out")
    layer = channel_layers.make_backend("default")
    channel = await layer.new_channel()
    receiving = asyncio.create_task(layer.receive(channel))
    try:
        # channels_redis waits in BZPOPMIN for 5 s at a time; with redis-py 8's default 5 s socket timeout the
        # read gave up first and the receiver died with TimeoutError (every idle websocket, every ~5 s).
        await asyncio.sleep(layer.brpop_timeout + 2)
        assert not receiving.done(), receiving.exception()
        await layer.send(channel, {"type": "job.progress", "status": "summarizing"})
        assert (await asyncio.wait_for(receiving, timeout=5))["status"] == "summarizing"
    finally:
        receiving.cancel()
        await layer.flush()
