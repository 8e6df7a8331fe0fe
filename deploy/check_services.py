"""The PostgreSQL, Redis and RabbitMQ of the scale-out profile: connections, and a check
that all three answer.

Rasa is unhelpful when one is missing: with PostgreSQL down it retries forever without
saying why, with RabbitMQ down it retries for 100 s. So scripts/run_scaled.sh and the
scale tests ask first, with the same environment variables endpoints.scale.yml reads,
and name what is missing and which variables to set.

    .venv/bin/python -m deploy.check_services    # exit 0, or 2 with one message per problem
"""

import asyncio
import os
import sys
from typing import Dict, List, Mapping, Optional, Sequence

# The loopback defaults scripts/run_scaled.sh exports; endpoints.scale.yml has none.
DEFAULTS: Dict[str, str] = {
    "DB_HOST": "127.0.0.1",
    "DB_PORT": "5432",
    "DB_DATABASE": "test",
    "DB_USER": "postgres",
    "DB_PASSWORD": "",
    "REDIS_HOST": "127.0.0.1",
    "REDIS_PORT": "6379",
    "REDIS_DB": "1",
    "REDIS_PASSWORD": "",
    "REDIS_KEY_PREFIX": "fanzha",
    "RABBITMQ_HOST": "127.0.0.1",
    "RABBITMQ_PORT": "5672",
    "RABBITMQ_USERNAME": "guest",
    "RABBITMQ_PASSWORD": "guest",
    "RABBITMQ_EXCHANGE": "fanzha-events",
    "RABBITMQ_QUEUE": "rasa_events",
}
TIMEOUT_SECONDS = 5


def settings(env: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The profile's variables: the environment's, else the loopback defaults."""
    return {**DEFAULTS, **(os.environ if env is None else env)}


def connect_postgres(env: Optional[Mapping[str, str]] = None):
    """A psycopg2 connection to the tracker store's database, autocommit."""
    import psycopg2

    s = settings(env)
    connection = psycopg2.connect(
        host=s["DB_HOST"], port=int(s["DB_PORT"]), dbname=s["DB_DATABASE"],
        user=s["DB_USER"], password=s["DB_PASSWORD"], connect_timeout=TIMEOUT_SECONDS,
    )
    connection.autocommit = True
    return connection


def connect_redis(env: Optional[Mapping[str, str]] = None):
    """A client for the lock store's Redis database."""
    import redis

    s = settings(env)
    return redis.Redis(
        host=s["REDIS_HOST"], port=int(s["REDIS_PORT"]), db=int(s["REDIS_DB"]),
        password=s["REDIS_PASSWORD"] or None,
        socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS,
    )


async def connect_rabbitmq(env: Optional[Mapping[str, str]] = None):
    """An aio_pika connection to the event broker."""
    import aio_pika

    s = settings(env)
    return await aio_pika.connect(
        host=s["RABBITMQ_HOST"], port=int(s["RABBITMQ_PORT"]), login=s["RABBITMQ_USERNAME"],
        password=s["RABBITMQ_PASSWORD"], timeout=TIMEOUT_SECONDS,
    )


def _postgres(env: Mapping[str, str]) -> None:
    connect_postgres(env).close()


def _redis(env: Mapping[str, str]) -> None:
    connect_redis(env).ping()


def _rabbitmq(env: Mapping[str, str]) -> None:
    async def connect_and_close() -> None:
        await (await connect_rabbitmq(env)).close()

    asyncio.run(asyncio.wait_for(connect_and_close(), TIMEOUT_SECONDS + 1))


# What each service is for, where it was looked for, and which variables to set.
SERVICES: Dict[str, tuple] = {
    "postgresql": (_postgres, "PostgreSQL（对话存储 / conversations）",
                   "{DB_USER}@{DB_HOST}:{DB_PORT}/{DB_DATABASE}",
                   "DB_HOST, DB_PORT, DB_DATABASE, DB_USER, DB_PASSWORD"),
    "redis": (_redis, "Redis（会话锁 / conversation locks）", "{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
              "REDIS_HOST, REDIS_PORT, REDIS_PASSWORD, REDIS_DB"),
    "rabbitmq": (_rabbitmq, "RabbitMQ（事件总线 / event broker）",
                 "{RABBITMQ_USERNAME}@{RABBITMQ_HOST}:{RABBITMQ_PORT}",
                 "RABBITMQ_HOST, RABBITMQ_PORT, RABBITMQ_USERNAME, RABBITMQ_PASSWORD"),
}


def problems(env: Optional[Mapping[str, str]] = None,
             services: Sequence[str] = tuple(SERVICES)) -> List[str]:
    """One message per service that does not answer; empty when all of them do."""
    s = settings(env)
    found = []
    for name in services:
        check, what, where, variables = SERVICES[name]
        try:
            check(s)
        except Exception as error:  # noqa: BLE001 - any failure is reported the same way
            reason = " ".join(str(error).split()) or type(error).__name__
            found.append(f"{what} 连不上 / not reachable at {where.format(**s)}: {reason}\n"
                         f"  请设置 / set {variables}")
    return found


def report_missing(found: List[str], needed: str) -> bool:
    """Prints each problem and what needs the services; True when there was any."""
    for problem in found:
        print(f"✗ {problem}", file=sys.stderr)
    if found:
        print(f"{needed} (docs/deployment.md: the scale-out profile).", file=sys.stderr)
    return bool(found)


def main() -> int:
    needed = "扩容配置需要这三个服务都在运行 / the scale-out profile needs all three running"
    return 2 if report_missing(problems(), needed) else 0


if __name__ == "__main__":
    sys.exit(main())
