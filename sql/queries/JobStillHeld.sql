-- Which of @Ids are still processing under @Owner: the others finished, were cancelled, rescued or taken over.
SELECT id FROM generation_job WHERE id = ANY(@Ids) AND status = 'processing' AND locked_by = @Owner;
