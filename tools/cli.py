"""What the command-line tools share: Chinese usage lines and one exit code for bad input."""

import argparse
import sys

EXIT_INVALID_INPUT = 2  # the code argparse itself uses for bad arguments


class ChineseHelpFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, prefix or "用法：")


class ChineseArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID_INPUT, f"参数错误 / bad arguments: {message}\n")
