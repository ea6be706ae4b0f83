"""Server-side LLM calls (the frontend never holds the OpenAI key)."""
