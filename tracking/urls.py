from tracking.endpoints import gather, segment

urlpatterns = [*segment.urlpatterns, *gather.urlpatterns]
