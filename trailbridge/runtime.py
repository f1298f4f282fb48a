"""`Trailbridge`: the whole engine on one data directory, as a Python object.

    with Trailbridge("./trailbridge-data") as tb:          # starts the dispatcher and scheduler
        events = tb.events()                                 # default account and region
        events.put_rule(Name="r", EventPattern='{"source": ["my.app"]}')
        ...

Service objects take boto3's arguments and give boto3's answers (`ServiceError.code` is the AWS error
code), so code written against boto3 moves over unchanged.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from trailbridge.bus.router import Router
from trailbridge.clock import Clock, SystemClock
from trailbridge.delivery.dispatcher import Dispatcher
from trailbridge.delivery.functions import Functions
from trailbridge.delivery.http import HttpInvoker
from trailbridge.delivery.invoker import Invoker
from trailbridge.delivery.lambdas import AsyncInvoker, LambdaDestinations
from trailbridge.delivery.logs import LogEvents
from trailbridge.delivery.queues import QueueMessages
from trailbridge.delivery.subscriptions import Notifier
from trailbridge.domain.ids import NewId, fast_uuid4
from trailbridge.errors import NotFoundError
from trailbridge.functions.runner import FunctionRunner
from trailbridge.functions.runtime import FunctionRuntime
from trailbridge.metrics import Metrics
from trailbridge.secrets import SecretBox
from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.cloudtrail import CloudTrailService
from trailbridge.services.destinations import DestinationsService, seal_stored_parameters
from trailbridge.services.events import EventsService
from trailbridge.services.lambda_functions.invoking import DeployedFunctions
from trailbridge.services.logs import LogsService
from trailbridge.services.sessions import RoleSessions
from trailbridge.services.sns.publish import PublishService
from trailbridge.services.sqs import QueuesService
from trailbridge.services.states.driver import Driver
from trailbridge.services.states.integrations import RuleExecutions
from trailbridge.services.trails import TrailsService
from trailbridge.settings import Settings
from trailbridge.storage.backends import open_ports
from trailbridge.topics.signing import NotificationSigner
from trailbridge.trail.buckets import Buckets, S3Buckets, StoreBuckets
from trailbridge.trail.digests import DigestWriter, SigningKeys
from trailbridge.trail.files import TrailFiles
from trailbridge.trail.forward import Forwarder
from trailbridge.trail.ingest import Importer
from trailbridge.trail.logfiles import LogFileWriter
from trailbridge.trail.recorder import Recorder
from trailbridge.workers import WorkerHealth


class Trailbridge:
    """The engine on a data directory, its state in the SQLite file there or in the PostgreSQL database
    `settings.database` names (no data directory and no database: in memory, gone when closed)."""

    def __init__(
        self,
        data_dir: Path | str | None = None,
        settings: Settings | None = None,
        clock: Clock | None = None,
        new_id: NewId | None = None,
    ) -> None:
        """`clock` and `new_id` (the time, and new ids of events, messages, requests) default to the system's."""
        self.settings = settings or Settings()
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.clock = clock or SystemClock()
        self.new_id = new_id or fast_uuid4
        ports = open_ports(self.settings, self.data_dir)
        self.store, resources, self.deliveries = ports.store, ports.resources, ports.deliveries
        self.metrics = Metrics()
        self.functions = Functions()
        router = Router(
            self.store,
            resources,
            self.deliveries,
            ports.schedules,
            self.clock,
            self.metrics,
            self.settings,
            self.new_id,
        )
        secrets = _secrets(self.settings, self.data_dir)
        buckets: Buckets = (
            S3Buckets(self.settings.s3_endpoint_url, self.settings.default_region)
            if self.settings.s3_endpoint_url
            else StoreBuckets(ports.objects, self.clock)
        )
        log_files = LogFileWriter(ports.trails, resources, buckets, self.clock, self.settings.trail_delivery_seconds)
        keys = SigningKeys(ports.keys, secrets, self.clock)
        digests = DigestWriter(ports.trails, resources, buckets, keys, self.clock, self.settings.digest_seconds)
        trail_files = TrailFiles(log_files, digests, self.clock)
        self.forwarder = Forwarder(
            self.store, ports.trails, ports.forwarding, resources, router, self.clock, self.new_id
        )
        self.recorder = Recorder(
            self.store,
            ports.records,
            self.clock,
            self.settings.lookup_retention_days,
            self.forwarder,
            trail_files.write_due,
        )
        self.importer = Importer(self.store, ports.imports, self.recorder, self.forwarder)
        self.engine = Engine(
            settings=self.settings,
            clock=self.clock,
            store=self.store,
            resources=resources,
            router=router,
            queues=QueueMessages(ports.messages, self.clock, self.store, self.new_id, self.metrics),
            logs=LogEvents(ports.logs, self.clock),
            secrets=secrets,
            functions=self.functions,
            metrics=self.metrics,
            buckets=buckets,
            objects=ports.objects,
            executions=ports.executions,
            trail_files=trail_files,
            recorder=self.recorder,
            new_id=self.new_id,
            sns_signer=NotificationSigner(ports.keys, secrets, self.clock, self.settings.endpoint_url),
            role_sessions=RoleSessions(secrets, self.clock),
            function_runner=FunctionRunner(
                lambda: FunctionRuntime(self.settings.lambda_max_workers, self.settings.lambda_idle_seconds)
            ),
        )
        self._dispatcher: Dispatcher | None = None
        self._states: Driver | None = None  # steps Step Functions executions
        seal_stored_parameters(resources, secrets)  # connections stored before secret parameters were sealed

    # -- services -----------------------------------------------------------------------------

    def _where(self, account: str | None, region: str | None) -> tuple[str, str]:
        return account or self.settings.default_account, region or self.settings.default_region

    def events(self, account: str | None = None, region: str | None = None) -> EventsService:
        return EventsService(self.engine, *self._where(account, region))

    def destinations(self, account: str | None = None, region: str | None = None) -> DestinationsService:
        return DestinationsService(self.engine, *self._where(account, region))

    def sqs(self, account: str | None = None, region: str | None = None) -> QueuesService:
        return QueuesService(self.engine, *self._where(account, region))

    def logs(self, account: str | None = None, region: str | None = None) -> LogsService:
        return LogsService(self.engine, *self._where(account, region))

    def cloudtrail(self, account: str | None = None, region: str | None = None) -> CloudTrailService:
        return CloudTrailService(self.engine, *self._where(account, region))

    def trails(self, account: str | None = None, region: str | None = None) -> TrailsService:
        return TrailsService(self.engine, *self._where(account, region))

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start delivering (and firing schedules) in a background thread."""
        if self._dispatcher is not None:
            return
        engine = self.engine
        http = HttpInvoker(self.settings.http_timeout_seconds)
        invoker = Invoker(
            engine.resources,
            engine.router,
            engine.functions,
            engine.queues,
            engine.logs,
            engine.secrets,
            http,
            _TopicPublisher(engine),
            DeployedFunctions(engine),
            self.clock,
            RuleExecutions(engine),
        )
        notifier = Notifier(
            engine.resources,
            engine.functions,
            engine.queues,
            engine.sns_signer,
            http,
            self.settings,
            self.metrics,
            invoker.lambdas,
            engine.router,
            self.clock,
        )
        destinations = LambdaDestinations(
            self.store, engine.resources, engine.queues, _TopicPublisher(engine), engine.router, self.clock
        )
        functions = AsyncInvoker(invoker.lambdas, destinations, self.settings.lambda_retry_base_seconds)
        dispatcher = Dispatcher(
            self.store,
            engine.resources,
            self.deliveries,
            engine.router,
            invoker,
            engine.queues,
            self.metrics,
            self.settings,
            self.clock,
            notifier,
            functions,
        )
        engine.router.on_accept(dispatcher.wake)
        dispatcher.start(self.data_dir)
        self._dispatcher = dispatcher
        self._states = Driver(engine)
        self._states.start()
        self.recorder.start()

    def stop(self) -> None:
        """Stop delivering; deliveries under way get `shutdown_grace_seconds` to finish."""
        if self._dispatcher is not None:
            self._dispatcher.stop()
            self._dispatcher = None
        if self._states is not None:
            self._states.stop()
            self._states = None
        self.recorder.stop()

    def close(self) -> None:
        self.stop()
        if self.engine.function_runner is not None:
            self.engine.function_runner.close()
        self.store.close()

    def health(self) -> dict[str, WorkerHealth]:
        """The state of each background worker: the dispatcher (deliveries and schedules), the recorder and
        the trail files' writer."""
        dispatcher = self._dispatcher.worker.health() if self._dispatcher else WorkerHealth("stopped")
        states = self._states.worker.health() if self._states else WorkerHealth("stopped")
        return {"dispatcher": dispatcher, "states": states, **self.recorder.health()}

    def pending_deliveries(self) -> int:
        return self.deliveries.pending()

    def __enter__(self) -> Trailbridge:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class _TopicPublisher:
    """SNS's Publish for a rule's topic target, as the topic's owner (the rule's right to publish there was
    checked by the delivery against the topic's policy)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def publish(self, topic_arn: str, message: str) -> None:
        _, _, _, region, account, _ = topic_arn.split(":", 5)
        try:
            PublishService(self.engine, account, region).publish(TopicArn=topic_arn, Message=message)
        except ServiceError as exc:
            if exc.code == "NotFound":
                raise NotFoundError(exc.message) from None
            raise


def _secrets(settings: Settings, data_dir: Path | None) -> SecretBox:
    """The key that seals stored secrets: the file settings name, else secret.key in the data directory, else one
    for this process only (memory)."""
    if settings.secret_key_file is not None:
        return SecretBox.in_file(settings.secret_key_file)
    return SecretBox.in_directory(data_dir) if data_dir else SecretBox.ephemeral()
