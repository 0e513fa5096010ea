"""The web portal (Cổng dịch vụ công): server-rendered pages in Vietnamese on top of the same
services and rules as the REST API, served by the gateway with no external CDN."""
