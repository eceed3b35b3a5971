"""Ids from pushfake's default world that these tests use, and the message our app adds to it."""

# a Leanplum app (production key: sendMessage needs it)
LEANPLUM_APP, LEANPLUM_KEY = "app_pushfake", "prod_pushfake"
# a D·engage API user with the Push.Manage permission, a segment (tier gold: ayse, elif), a
# two-language template (EN default, TR) and the mobile application
DENGAGE_USER, DENGAGE_PASSWORD = "pushfake", "pushfake-secret"
GOLD_SEGMENT = "5f0c6a1e-2d3b-4c4d-8e5f-6a7b8c9d0e1f"
SALE_TEMPLATE = "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b"
MOBILE_APP = "8d1f4c2a-6b3e-4f5a-9c7d-1e2f3a4b5c6d"

# our own message, added to the fake's app for each test (in Leanplum it is set up in the dashboard)
SHIPPED_MESSAGE = {"id": 3001, "name": "Order shipped", "channel": "push", "title": "Your order shipped",
                   "body": 'Order {{"order"}} is on its way.'}
