"""docent: question answering over a team's own documents."""
