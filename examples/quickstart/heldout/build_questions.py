"""Write questions.json (SQuAD 2.0 format) from the hand-written questions below.

Each context is one section of a held-out document as a user would paste it: its markdown
heading first, hard line wraps kept. The questions were written by hand for tunesmith; None
marks a question that the section does not answer (on topic, but the answer is not there).
Run: python examples/quickstart/heldout/build_questions.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from question_sets import Questions, write_questions  # noqa: E402

QUESTIONS: Questions = {
    ("schema-registry.md", "Overview"): [
        ("In which version was the Schema Registry introduced?", "2.4"),
        ("Which schema formats does the registry accept?", "Avro, Protobuf or JSON Schema"),
        ("What is a subject usually named after?", "the topic it describes"),
        ("How much memory does the Schema Registry need?", None),
        ("Which port does the Schema Registry listen on?", None),
    ],
    ("schema-registry.md", "Compatibility rules"): [
        ("What is the default compatibility mode?", "BACKWARD"),
        ("Which error code is returned when a version breaks the compatibility rule?", "HL-4409"),
        ("Which command changes the compatibility mode of a subject?", "hlctl schema mode"),
        ("Which mode turns the compatibility check off?", "NONE"),
        ("How many schema versions can a subject hold?", None),
        ("Who introduced the compatibility modes?", None),
    ],
    ("schema-registry.md", "Storage and limits"): [
        ("In which internal topic are schemas stored?", "_hl_schemas"),
        ("What is the largest size of a single schema?", "256 KB"),
        ("How long do the versions of a deleted subject stay readable?", "30 days"),
        ("How many schemas does the cache hold by default?", "5000"),
        ("How are schemas encrypted at rest?", None),
        ("How often is the schema cache refreshed?", None),
    ],
    ("geo-replication.md", "Mirror links"): [
        ("Which command creates a mirror link?", "hlctl mirror create"),
        ("Which option adds a prefix to mirrored topic names?", "mirror.topic_prefix"),
        ("Which edition includes geo-replication?", "the Enterprise edition"),
        ("How many mirror links can a cluster have?", None),
        ("What does a mirror link cost per month?", None),
    ],
    ("geo-replication.md", "Lag and failover"): [
        ("Which metric reports the mirror lag?", "hl_mirror_lag_seconds"),
        ("Which command promotes the mirrored topics?", "hlctl mirror promote"),
        ("How high is the lag under normal load?", "below two seconds"),
        ("How long does a promotion take?", None),
        ("What alert fires when the lag is too high?", None),
    ],
    ("geo-replication.md", "Bandwidth"): [
        ("How many fetcher threads does a mirror link use?", "four"),
        ("Which compression is used before data crosses the network?", "zstd"),
        ("How often are consumer group offsets copied?", "every 30 seconds"),
        ("Which setting caps the bandwidth of a link?", "mirror.max_bytes_per_second"),
        ("Is the mirrored data encrypted in transit?", None),
        ("How much memory does each fetcher thread use?", None),
    ],
    ("kubernetes-operator.md", "Installing the operator"): [
        ("What is the Helm chart of the operator called?", "harborlight-operator"),
        ("Which Kubernetes version does the operator need?", "1.27 or newer"),
        ("How much memory does the operator need?", "about 200 MB"),
        ("Which kind of custom resource does the operator watch?", "HarborCluster"),
        ("Which container registry hosts the operator image?", None),
        ("How long does the installation take?", None),
    ],
    ("kubernetes-operator.md", "Scaling and upgrades"): [
        ("Which field is raised to add brokers?", "spec.brokers"),
        ("How fast may the rebalancer move partitions per broker?", "50 MB/s"),
        ("What are upgrades like?", "rolling"),
        ("How many brokers can a cluster have at most?", None),
        ("How long does the operator wait between broker restarts?", None),
    ],
    ("kubernetes-operator.md", "Storage on Kubernetes"): [
        ("What is the default volume size?", "100 GiB"),
        ("Which annotation allows the operator to delete a volume with data?",
         "harborlight.example/allow-data-loss"),
        ("Can volumes be shrunk?", "they can never be shrunk"),
        ("Which storage class does Quillmoor Systems recommend?", None),
        ("How are volumes backed up?", None),
    ],
    ("tiered-storage.md", "How it works"): [
        ("In which version was tiered storage added?", "3.0"),
        ("What is the default local retention time?", "12 hours"),
        ("Which S3-compatible service is given as an example?", "MinIO"),
        ("How large are the uploaded segments?", None),
        ("How long does an upload to the object store take?", None),
    ],
    ("tiered-storage.md", "Reading old data"): [
        ("How large is the read cache by default?", "10 GiB"),
        ("Which error code does a failed fetch from the object store return?", "HL-5031"),
        ("How many times are reads from the object store retried?", "three times"),
        ("Which segments does the read cache evict first?", "the least recently used segments"),
        ("How much slower is the first read of a remote segment?", None),
        ("Where is the read cache stored?", None),
    ],
    ("tiered-storage.md", "Costs and limits"): [
        ("Which setting enables tiered storage on a topic?", "tiered.enabled"),
        ("On which topics can tiered storage not be used?", "compacted topics"),
        ("For topics that keep data longer than how many days is tiered storage recommended?",
         "14 days"),
        ("How much does tiered storage cost per gigabyte?", None),
        ("Which object store does Quillmoor Systems recommend?", None),
    ],
}


if __name__ == "__main__":
    write_questions(HERE, QUESTIONS, "Harborlight held-out documents")
