"""Browser uploads straight to B2: plan (single PUT or multipart), complete + verify, abort."""
