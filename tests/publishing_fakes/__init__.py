"""In-process fakes of the platform APIs (served through respx), following each documented request sequence."""
