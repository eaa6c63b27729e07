"""Use cases. Each public function opens one unit of work and commits once."""
