"""Write questions.json (SQuAD 2.0 format) from the hand-written calibration questions below.

The six documents here (connectors.md, stream-processing.md, multi-tenancy.md,
delayed-messages.md, message-tracing.md, terraform-provider.md) are neither trained on (they
are not in corpus/) nor used in the test (they are not in heldout/); the questions are used only
to choose the abstention threshold. Each context is one section of a
document as a user would paste it: its markdown heading first, hard line wraps kept. The
questions were written by hand for tunesmith; None marks a question that is on topic for the
section but that the section does not answer (nor does any other document in this folder).
Run: python examples/quickstart/calibration/build_questions.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from question_sets import Questions, write_questions  # noqa: E402

QUESTIONS: Questions = {
    ("connectors.md", "Sources and sinks"): [
        ("Which release first shipped Harborlight Connect?", "2.6"),
        ("What is the Connect daemon called?", "hlconnectd"),
        ("How many connectors does Quillmoor Systems officially maintain?", "14"),
        ("Which edition do I need for the official connectors other than JDBC, S3 and HTTP?",
         "the Professional Edition"),
        ("Is there an official connector for MongoDB?", None),
        ("Which PostgreSQL versions can the source connector read from?", None),
    ],
    ("connectors.md", "Workers and offsets"): [
        ("Which setting decides which Connect cluster a worker joins?", "connect.group_id"),
        ("Where do source connectors keep track of their positions?", "_hl_connect_offsets"),
        ("How often are connector offsets flushed?", "every 10 seconds"),
        ("How much memory should I give a Connect worker?", "512 MiB"),
        ("How many workers can a single Connect cluster contain?", None),
        ("How many CPU cores does a Connect worker need?", None),
    ],
    ("connectors.md", "REST API and plugins"): [
        ("On which port can I reach the Connect REST API?", "7440"),
        ("In which directory do I install connector plugins?",
         "/opt/harborlight/connect/plugins"),
        ("How do I restart a connector task that has failed?", "hlctl connect restart"),
        ("How do clients authenticate to the Connect REST API?", None),
        ("How many times does Connect retry a failed task on its own?", None),
    ],
    ("stream-processing.md", "Overview"): [
        ("In which language do I write a stream query?", "HQL"),
        ("Which setting turns on stream processing?", "streams.enabled"),
        ("How do I delete a stream query?", "hlctl stream drop"),
        ("Which editions include Harborlight Streams?", "the Professional and Enterprise editions"),
        ("Can I pause a running query and resume it later?", None),
        ("Which version of the SQL standard is HQL based on?", None),
    ],
    ("stream-processing.md", "Windows and state"): [
        ("Which kinds of windows can I use today?", "tumbling windows and hopping windows"),
        ("How long is a window when the query does not set a size?", "1 minute"),
        ("How long after a window closes are late records still accepted?", "5 minutes"),
        ("How much disk space does the state of a query take?", None),
        ("Which setting changes the default window size?", None),
    ],
    ("stream-processing.md", "Scaling and limits"): [
        ("How many tasks does a query run as?", "one task per partition"),
        ("Which setting lets a broker run more stream tasks?", "streams.max_tasks"),
        ("What error code do I get when the output topic of a query is missing?", "HL-1005"),
        ("How much memory does one stream task use?", None),
        ("Can I change the HQL of a query while it is running?", None),
    ],
    ("multi-tenancy.md", "Tenants"): [
        ("Which edition do I need for multi-tenancy?", "the Enterprise Edition"),
        ("Which command sets up a new tenant?", "hlctl tenant create"),
        ("How long can a tenant name be?", "32 characters"),
        ("Which tenant does the admin account belong to?", "the system tenant"),
        ("How do I rename an existing tenant?", None),
        ("How many tenants can one cluster hold?", None),
    ],
    ("multi-tenancy.md", "Isolation"): [
        ("Which setting switches on tenant isolation?", "tenancy.enabled"),
        ("What error code comes back when I ask for a topic of another tenant?", "HL-2005"),
        ("Where do users that existed before isolation was turned on end up?",
         "the tenant named default"),
        ("Is each tenant's data encrypted with its own key?", None),
        ("Do the brokers need a restart after tenant isolation is turned on?", None),
    ],
    ("multi-tenancy.md", "Quotas and usage"): [
        ("How much data may a tenant store by default?", "500 GiB"),
        ("What happens when a tenant goes over its storage quota?", "cannot write new messages"),
        ("Which metric shows how much data a tenant keeps?", "harborlight_tenant_bytes_stored"),
        ("What is the default read throughput limit of a tenant?", None),
        ("How often is the usage of a tenant measured?", None),
        ("Can the quotas of a tenant be set to unlimited?", None),
    ],
    ("delayed-messages.md", "Scheduling a message"): [
        ("Which header lets a producer give the delay in milliseconds?", "hl-delay-ms"),
        ("How far ahead can a message be scheduled at most?", "60 days"),
        ("What error code do I get if my delay is too long?", "HL-3004"),
        ("Which topic setting do I need to turn on to use delayed delivery?", "delay.enabled"),
        ("What is the shortest delay a producer can ask for?", None),
        ("Can delayed messages be sent inside a transaction?", None),
    ],
    ("delayed-messages.md", "Timer store"): [
        ("How often does the broker look for messages whose time has come?",
         "every 250 milliseconds"),
        ("Which setting lets a broker hold more waiting messages?", "timers.max_pending"),
        ("Which metric tells me how many messages are still waiting?",
         "harborlight_timer_pending_messages"),
        ("How much disk space does the timer store use?", None),
        ("What happens when a broker already holds the maximum number of waiting messages?",
         None),
    ],
    ("delayed-messages.md", "Managing delayed messages"): [
        ("How can I see which messages are still waiting to go out?", "hlctl delay list"),
        ("Which command cancels a scheduled message?", "hlctl delay cancel"),
        ("Which metric counts deliveries that came too late?",
         "harborlight_timer_late_deliveries_total"),
        ("How late must a delivery be before it counts as late?", "more than 5 seconds"),
        ("Can I cancel every waiting message of a topic with one command?", None),
        ("Does the web console show delayed messages?", None),
    ],
    ("message-tracing.md", "Enabling tracing"): [
        ("Which edition do I need to trace messages?", "the Enterprise Edition"),
        ("Which setting turns on message tracing?", "tracing.enabled"),
        ("How many messages are traced if I keep the default rate?", "1 in 1000"),
        ("How long is a trace ID?", "16 hexadecimal characters"),
        ("Can tracing be limited to a few topics?", None),
        ("Does a trace follow a message into a dead letter queue?", None),
    ],
    ("message-tracing.md", "Exporting traces"): [
        ("For how long do brokers keep traces?", "3 days"),
        ("How often are traces pushed to the collector?", "every 5 seconds"),
        ("Which metric shows spans that were lost?", "harborlight_tracing_dropped_spans_total"),
        ("Can I change how long traces are kept in _hl_traces?", None),
        ("Does the exporter use TLS when it talks to the collector?", None),
        ("Which collectors has Quillmoor Systems tested the exporter with?", None),
    ],
    ("message-tracing.md", "Reading a trace"): [
        ("Which command displays a trace as a timeline?", "hlctl trace show"),
        ("On which port is the trace API served?", "7450"),
        ("What error code comes back for a trace that has expired?", "HL-1006"),
        ("How much extra CPU does tracing cost at the default sampling?", "about 2 percent"),
        ("How far back does hlctl trace find search when I give no time range?", None),
        ("Does the trace API require an access token?", None),
    ],
    ("terraform-provider.md", "Installing the provider"): [
        ("Under which name is the provider listed in the Terraform Registry?",
         "quillmoor/harborlight"),
        ("Which environment variable should hold the provider's token?",
         "HARBORLIGHT_TF_TOKEN"),
        ("When does a request from the provider time out?", "after 45 seconds"),
        ("Can the provider reach the broker over TLS?", None),
        ("Does the provider also work with OpenTofu?", None),
    ],
    ("terraform-provider.md", "Resources"): [
        ("How many kinds of resources does the provider support?", "four"),
        ("Which argument keeps Terraform from destroying a topic?", "deletion_protection"),
        ("How long does the provider wait for a new topic's partitions to get a leader?",
         "up to 2 minutes"),
        ("Which replication factor does a topic get when the resource leaves it out?", None),
        ("Can a topic be renamed through Terraform without being recreated?", None),
    ],
    ("terraform-provider.md", "State and drift"): [
        ("How do I turn topics that already exist into Terraform code?",
         "hlctl export terraform"),
        ("Which argument limits how fast the provider sends requests?",
         "max_requests_per_second"),
        ("What error code do I get for an argument the broker does not know?", "HL-3005"),
        ("Where does hlctl export terraform write its files by default?", None),
        ("Is the access token saved in the Terraform state file?", None),
    ],
}


if __name__ == "__main__":
    write_questions(HERE, QUESTIONS, "Harborlight calibration documents")
