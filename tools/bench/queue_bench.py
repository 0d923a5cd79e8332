"""The MPSC queue benchmark of //queue (it interleaves its own runs and prints markdown)."""
import subprocess


def run(binary):
    return subprocess.run([binary], capture_output=True, text=True, check=True).stdout
