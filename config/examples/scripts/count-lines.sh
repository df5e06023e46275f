#!/bin/sh
# Counts the lines of stdin with shell builtins only (no other program is executed).
lines=0
while IFS= read -r line; do lines=$((lines + 1)); done
echo "lines: $lines"
