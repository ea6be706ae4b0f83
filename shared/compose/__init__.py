"""The Create (compose) page's workspace: drafts and scheduled posts, stored for the frontend and merged by item."""
