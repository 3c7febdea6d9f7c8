from tracking.endpoints import segment

urlpatterns = [*segment.urlpatterns]
