"""The Discord client, used by the worker's services and the gateway bot alike.

    permissions.py   Discord's permission arithmetic, pure
    convert.py       discord.Message -> the engine's ChatMessage
    errors.py        every Discord failure as a SummaryBotError, and the JSON error codes we branch on

It sits below the services: it may import the engine's types, the project's errors and settings, never
the bot (botrunner), a service, a model or the guilds app.
"""
