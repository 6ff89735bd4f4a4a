from ninja import NinjaAPI

api = NinjaAPI(title="eCRM API", version="1", urls_namespace="api")
