"""Pure summarization: a list of messages in, a cited summary out.

Knows no Django request, no discord.py object and no model save, so it can be tested and benchmarked alone.
"""
