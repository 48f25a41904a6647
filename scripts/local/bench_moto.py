"""moto_server for the benchmark, with two emulator artefacts taken out (BENCHMARKS.md).

- moto 5.2's ReceiveMessage checks each message it returns against the queue's retention
  period by building every queue attribute, which counts the whole queue: a receive costs
  O(batch × depth). With 200 messages queued that is about 12 ms of emulator time per
  message received (60 ms with 1,000), four times a whole S3 request, and nothing SQS does.
  The check below gives the same answer from the one attribute it needs (2 ms per receive
  at 200 deep, 10 ms at 1,000: moto still scans the queue once per receive).
- moto does not implement Config's StartConfigRulesEvaluation: it answers HTTP 500 and
  writes a traceback, about as slow as a fix. redress sends it once per fix (a best-effort
  nudge); here it gets the empty success AWS answers.

Everything else is stock moto.

Usage: bench_moto.py HOST PORT
"""
import os
import sys

# This folder has a click.py of its own; moto's server needs the click package.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

from moto.core.utils import unix_time  # noqa: E402
from moto.config.responses import ConfigResponse  # noqa: E402
from moto.sqs import models  # noqa: E402


def is_message_valid_based_on_retention_period(self, queue_name, message):
    queue = self.get_queue(queue_name)
    return int(queue.message_retention_period) + message.sent_timestamp / 1000 > unix_time()


models.SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
ConfigResponse.start_config_rules_evaluation = lambda self: "{}"

if __name__ == "__main__":
    from moto.server import main

    main(["-H", sys.argv[1], "-p", sys.argv[2]])
