"""What was said: speech recognition (faster-whisper), transcripts, and text search."""
