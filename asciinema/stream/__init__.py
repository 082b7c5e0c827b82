"""Live streaming: the ALiS codec, the hub that fans a session out to viewers, and the
HTTP/WebSocket server that viewers connect to.

Nothing is imported here: ``rec``, ``cat`` and ``convert`` must be able to import
``asciinema.stream.<module>`` pieces (or nothing) without pulling in asyncio or websockets.
"""
