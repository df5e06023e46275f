#!/usr/bin/python3
# hello in Python: the same plugin as examples/hello ("greet" says hello, "echo" returns its
# input), on the Python SDK (plugin-sdk/python, package airlock_plugin).
from dataclasses import dataclass

from airlock_plugin import Bytes, Plugin, PluginError, String


@dataclass
class GreetRequest:
    name: String[256] = ""


@dataclass
class GreetReply:
    text: String[512] = ""


@dataclass
class EchoMessage:
    data: Bytes[65536] = b""


try:
    plugin = Plugin()  # adopts the host connection and receives the grants
except PluginError as error:
    raise SystemExit(f"hello-py: {error}")  # e.g. not started by airlock-host


@plugin.method("greet")
def greet(request: GreetRequest) -> GreetReply:
    if not request.name:
        raise ValueError("greet needs a name")
    return GreetReply("hello, " + request.name)


@plugin.method("echo")
def echo(message: EchoMessage) -> EchoMessage:
    return message


raise SystemExit(plugin.run())  # reports ready, serves until the host says stop, returns 0
