"""Pure server models: error rates and rate limits over time. No I/O, no wall clock, no asyncio."""
