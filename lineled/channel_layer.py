"""The Redis channel layer, with its blocking reads kept shorter than a socket timeout.

channels_redis waits for messages with BZPOPMIN for ``brpop_timeout`` seconds (5) and
then loops. redis-py 8 gives every connection a 5 s socket timeout, so a wait with no
message in it raised TimeoutError and killed idle websocket consumers. Waiting 3 s per
read keeps each read inside the timeout; the loop makes the wait as long as needed.
"""

from channels_redis.core import RedisChannelLayer


class ChannelLayer(RedisChannelLayer):
    brpop_timeout = 3
