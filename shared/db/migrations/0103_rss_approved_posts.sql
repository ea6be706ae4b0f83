-- Planned by the owner (approve / retry) rather than by autoPost: turning autoPost or global RSS posting off
-- cancels only the posts autoPost planned; an explicit approval stands.
ALTER TABLE rss_planned_posts ADD COLUMN approved boolean NOT NULL DEFAULT false;
