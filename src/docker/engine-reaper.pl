# The reaper that runs as a container on an engine other than this machine's
# (see engine-reaper.ts). Perl, because perl-base is in every Debian image
# retrolab runs (runner and base images alike) and speaks HTTP over a unix
# socket with what it ships; the image needs nothing else.
#
#   perl -e SCRIPT SOCKET GRACE_S SILENCE_S LABEL...
#
# SOCKET is the engine's API socket mounted into this container. The owner
# holds this container's stdin (an attach stream) and writes a byte every few
# seconds; when the stream ends (the owner died, or its connection to this
# host did) or stays silent for SILENCE_S (a connection that hangs without
# closing), this waits GRACE_S and removes every container and volume that
# carries all LABELs, then exits (the engine removes this container: AutoRemove).
use strict;
use warnings;
use IO::Select;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);

my ($socket, $grace, $silence, @labels) = @ARGV;
$| = 1;

sub api {
  my ($method, $path) = @_;
  my $conn = IO::Socket::UNIX->new(Peer => $socket, Type => SOCK_STREAM) or return (0, "cannot connect to $socket: $!");
  # HTTP/1.0: the engine closes the connection after the answer, so no chunked body to decode.
  print $conn "$method $path HTTP/1.0\r\nHost: docker\r\n\r\n";
  local $/;
  my $answer = <$conn> // '';
  close $conn;
  my ($status) = $answer =~ m{^HTTP/1\.\d (\d{3})};
  my ($body) = $answer =~ m{\r\n\r\n(.*)}s;
  return ($status // 0, $body // '');
}

sub escape { my $s = shift; $s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord($1))/ge; return $s }

# The socket must lead to the engine this container runs on, or the reaping
# would happen on another engine: this container must be there by its own id.
my $self = $ENV{HOSTNAME} // '';
my ($status, $body) = api('GET', "/containers/$self/json");
if ($status != 200) {
  print "wrong-engine: $socket does not lead to the engine that runs this container (GET /containers/$self/json answered "
    . ($status || 'nothing') . ": " . substr($body, 0, 200) . ")\n";
  exit 3;
}
print "ready\n";

my $select = IO::Select->new(\*STDIN);
my $why;
while (1) {
  if ($select->can_read($silence)) {
    my $read = sysread(STDIN, my $buffer, 4096);
    if (!$read) { $why = 'the owner stream ended'; last }
  } else {
    $why = "no heartbeat from the owner for ${silence} s";
    last;
  }
}
print "$why: reaping in ${grace} s\n";
sleep $grace;

my $filters = escape('{"label":[' . join(',', map { "\"$_\"" } @labels) . ']}');
($status, $body) = api('GET', "/containers/json?all=1&filters=$filters");
print "listing containers answered $status\n" if $status != 200;
for my $id ($body =~ /"Id":"([0-9a-f]{64})"/g) {
  next if substr($id, 0, length $self) eq $self;
  my ($removed) = api('DELETE', "/containers/$id?force=1&v=1");
  print "container " . substr($id, 0, 12) . ": $removed\n";
}
($status, $body) = api('GET', "/volumes?filters=$filters");
for my $name ($body =~ /"Name":"([^"]+)"/g) {
  my ($removed) = api('DELETE', '/volumes/' . escape($name) . '?force=1');
  print "volume $name: $removed\n";
}
print "done\n";
exit 0;
