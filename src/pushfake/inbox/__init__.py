"""The inbox: a web page of every device and the pushes it received, live (`/_pushfake/inbox`).

`query` reads the filters and selects deliveries; `notifications` reads what a device shows
from a payload's wire shape; `devices` lists the devices the vendors know; `view` groups
deliveries into the page's owners, devices and notifications; `panels` the request log and
state panel; `render` the Jinja2 templates; `events` the server-sent event stream; `routes`
the Starlette routes. Server-rendered HTML, a small plain script, no build step.
"""
