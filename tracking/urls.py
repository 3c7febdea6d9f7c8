from tracking.endpoints import gather, segment, vitally

urlpatterns = [*segment.urlpatterns, *vitally.urlpatterns, *gather.urlpatterns]
