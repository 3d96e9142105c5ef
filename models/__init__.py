"""Network definitions and shipped weights (imported as ``rootrepair.models``)."""
