"""ndxp's side of Kafka: clients for the tools (:mod:`.io`), topic creation (:mod:`.admin`),
credentials (:mod:`.auth`), secured mode's users and ACLs (:mod:`.security`) and the record
batches every consumer reads through (:mod:`.records`)."""
