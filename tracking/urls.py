from tracking.endpoints import bucket, gather, segment, vitally

urlpatterns = [
    *segment.urlpatterns,
    *vitally.urlpatterns,
    *gather.urlpatterns,
    *bucket.urlpatterns,
]
