"""The Discord REST client, used by the worker's services and the gateway bot alike.

    session.py       one login (discord.py in REST-only mode), call timeout, error mapping, shared lookups;
                     the one place that points discord.py at DISCORD_API_BASE_URL / DISCORD_GATEWAY_URL
    client.py        DiscordRest: `async with` one session, its parts below built on it
    history.py       channel info, history pages, single messages
    access.py        what the bot lacks in a channel, who can see it
    delivery.py      messages, threads and forum posts, DMs
    interactions.py  edits and follow-ups of a deferred interaction
    outgoing.py      what a posted message is made of (embeds, one file, the pager, no pings)
    pager.py         the ◀ n/m ▶ buttons: one DynamicItem that builds and parses its custom_id
    permissions.py   Discord's permission arithmetic, pure
    convert.py       discord.Message -> the engine's ChatMessage
    errors.py        every Discord failure as a SummaryBotError, and the JSON error codes we branch on

It sits below the services: it may import the engine's types, the project's errors and settings, never
the gateway bot's app, a service, a model or the guilds app.
"""
