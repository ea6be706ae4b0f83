"""FFmpeg through the imageio-ffmpeg binary (there is no ffprobe: facts come from `ffmpeg -i` stderr).

Pure parts (probe parsing, command building, progress parsing, compliance) are separate from the one
module that runs processes (`process.py`).
"""
