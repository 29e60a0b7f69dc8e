"""The lite engine set: real, small CPU engines (speech, key frames, motion, avatar, music)."""
