"""Push notifications for the shop: Leanplum for transactional pushes to one customer, D·engage for
campaigns to a segment. The vendor clients take an injected HTTP client, so tests (and a
staging setup) decide where requests go."""
