-- Which of @Ids are still processing under their claim: the others were cancelled or taken away.
SELECT id FROM generation_job WHERE id = ANY(@Ids) AND status = 'processing' AND locked_by = @Owner;
