"""The outbound channels moved to ``inbox.channels``; this keeps the old dotted paths working
(``GRIDMAP_NOTIFICATION_CHANNELS`` of an existing deployment may name
``incidents.channels.EmailChannel``)."""

from inbox.channels import Channel as Channel
from inbox.channels import EmailChannel as EmailChannel
