#!/bin/sh
# Writes a one-line report: the score ($1) to the path given ($2).
printf 'score below threshold: %s\n' "$1" > "$2"
