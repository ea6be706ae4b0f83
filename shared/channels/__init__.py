"""YouTube channel monitoring: poll public Atom feeds, detect new trailers. No video download here."""
