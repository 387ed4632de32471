"""LLM provider clients. Each owns its timeouts, retries and error mapping; the engine sees `ChatProvider`."""
